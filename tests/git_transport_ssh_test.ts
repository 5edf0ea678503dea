import { startSshd } from "./helpers/sshd.ts";
import { transportSuite } from "./transport_suite.ts";

for (const acceptEnv of [true, false]) {
  transportSuite(
    `ssh (protocol v${acceptEnv ? 2 : 0})`,
    async () => {
      const sshd = await startSshd({ acceptEnv });
      return {
        makeUrl: (path: string) => sshd.url(path),
        options: { env: sshd.env, cwd: "/", gitConfig: () => undefined },
        teardown: () => sshd.stop(),
        expectProtocol: acceptEnv ? 2 : 0,
      };
    },
    { hooks: true },
  );
}
