import process from "node:process";
import { transportSuite } from "./transport_suite.ts";

const options = {
  env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin" },
  cwd: "/",
  gitConfig: () => undefined,
};

transportSuite("local path", () =>
  Promise.resolve({
    makeUrl: (path: string) => path,
    options,
    teardown: () => Promise.resolve(),
  }));

transportSuite("file:// URL", () =>
  Promise.resolve({
    makeUrl: (path: string) => `file://${path}`,
    options,
    teardown: () => Promise.resolve(),
  }));
