/** The `agent=` capability value dxp sends to Git servers. */
export const AGENT = "dxp/0.1.0";
