import type { Command } from 'commander';

interface TokenFlags {
  secret?: string;
  config?: string;
  ttl: string;
}

/** `tributary token publish|play <app>/<key>`: mints a token for a protected stream. */
export function register(program: Command): void {
  program
    .command('token')
    .description('mint a publish or play token (HMAC-SHA256, bound to the stream, with expiry)')
    .argument('<action>', 'publish or play')
    .argument('<path>', 'app/key, e.g. live/mykey')
    .option('--secret <secret>', 'the server auth secret (or take auth.secret from --config)')
    .option('--config <file>', 'the server config file')
    .option('--ttl <seconds>', 'validity in seconds', '3600')
    .action(async (action: string, path: string, flags: TokenFlags) => {
      const { makeToken } = await import('../server/auth.js');
      const { loadConfig, ConfigError } = await import('../node/config.js');
      const fail = (msg: string, code = 1): never => {
        process.stderr.write(`tributary token: ${msg}\n`);
        process.exit(code);
      };
      if (action !== 'publish' && action !== 'play') fail('action must be publish or play');
      const m = /^([A-Za-z0-9_.\-~]{1,128})\/([A-Za-z0-9_.\-~]{1,128})$/.exec(path);
      if (!m) return fail('path must be app/key');
      const ttl = Number(flags.ttl);
      if (!Number.isInteger(ttl) || ttl <= 0) fail('--ttl must be a positive whole number of seconds');
      let secret = flags.secret;
      if (!secret && flags.config) {
        try {
          secret = loadConfig({}, flags.config).auth.secret;
        } catch (err) {
          if (err instanceof ConfigError) fail(err.message, 2);
          throw err;
        }
      }
      if (!secret) return fail('no secret: pass --secret or --config with auth.secret');
      const token = makeToken(secret, { action: action as 'publish' | 'play', app: m[1]!, key: m[2]!, expiresAt: Date.now() + ttl * 1000 });
      process.stdout.write(`${token}\n`);
    });
}
