/**
 * Removes secrets from a URL-ish string before it is shown anywhere: the
 * password (and a bare token in the user position) of `scheme://user:pass@host`.
 * Non-URL strings come back unchanged.
 */
export function redactUrl(text: string): string {
  return text.replace(
    /([a-z][a-z0-9+.-]*:\/\/)([^/@\s:]*)(:[^/@\s]*)?@/gi,
    (_all, scheme: string, user: string, pass: string | undefined) =>
      pass === undefined ? `${scheme}***@` : `${scheme}${user}:***@`,
  );
}
