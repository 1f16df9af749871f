import type { Config } from '../config.js';

/**
 * The config's STUN/TURN servers as Link header values (RFC 9725 section 4.6):
 * `<turn:turn.example.net?transport=udp>; rel="ice-server"; username="u"; credential="p";
 * credential-type="password"`, one per URL. The config schema keeps quotes, angle brackets and
 * line breaks out of every part.
 */
export function iceServerLinks(servers: Config['webrtc']['iceServers']): string[] {
  return servers.flatMap((s) =>
    (Array.isArray(s.urls) ? s.urls : [s.urls]).map((url) => {
      const auth = s.username !== undefined ? `; username="${s.username}"; credential="${s.credential}"; credential-type="password"` : '';
      return `<${url}>; rel="ice-server"${auth}`;
    }),
  );
}
