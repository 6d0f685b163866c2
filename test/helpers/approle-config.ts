// The config a user writes for AppRole: role id inline, secret id in a file. Shared by the tests
// that log in through it (CLI wiring and the service).
export function approleConfigText(o: { name: string; address: string; mount: string; roleId: string; secretIdFile: string; prefix: string }): string {
  return [
    `name: ${o.name}`,
    "source:",
    `  address: ${o.address}`,
    `  mount: ${o.mount}`,
    "  auth:",
    "    method: approle",
    `    roleId: ${o.roleId}`,
    `    secretIdFile: ${o.secretIdFile}`,
    "destination:",
    `  prefix: ${o.prefix}`,
    "",
  ].join("\n");
}
