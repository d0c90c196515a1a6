/**
 * The `host[:port]` of an http(s) URL exactly as written, which is what containerd looks credentials up by: it keys
 * `registry.configs` by Go's `url.Parse(...).Host` of the hosts.toml endpoint (the request's `URL.Host` in
 * core/remotes/docker/authorizer.go at v2.1.4), which keeps an explicit default port (`:443`) and the letter case.
 * WHATWG `new URL().host` drops `:443` / `:80` and lowercases, so credentials keyed by it are never found.
 */
export function urlAuthority(url: string): string {
  const rest = url.replace(/^[A-Za-z][A-Za-z0-9+.-]*:\/\//, "");
  const end = rest.search(/[/?#]/);
  const authority = end === -1 ? rest : rest.slice(0, end);
  return authority.slice(authority.lastIndexOf("@") + 1);
}
