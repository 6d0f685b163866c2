// URLs as people see them: never with the credentials a URL can carry in its userinfo
// (`https://user:pass@host`), which would otherwise travel into headers, logs and reports.

/** The URL with any `user:password@` removed; everything else as written. */
export function withoutUserinfo(url: string): string {
  const parts = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*)(.*)$/is.exec(url);
  if (!parts) return url;
  const [, scheme = "", authority = "", rest = ""] = parts;
  // The host starts after the last "@": a password may hold an unescaped one.
  const at = authority.lastIndexOf("@");
  return at < 0 ? url : `${scheme}${authority.slice(at + 1)}${rest}`;
}

/** True when a URL carries a user name or password (`https://user:pass@host`), parsable or not. */
export function hasUserinfo(url: string): boolean {
  const parsed = URL.parse(url);
  return parsed ? parsed.username !== "" || parsed.password !== "" : /\/\/[^/]*@/.test(url);
}
