/**
 * Git's rules for a full ref name (`git check-ref-format`): under `refs/`,
 * no `..`, `//`, `@{`, no component starting with `.` or ending in `.lock`,
 * no ASCII control character, space, `~ ^ : ? * [ \`, not ending in `/` or
 * `.`. A server's advertisement and a user's argument both pass through it:
 * a name such as `refs/exps/../heads/main` could otherwise address a ref
 * outside its namespace, and one with control characters would reach the
 * terminal when printed.
 */
export function isValidRefName(ref: string): boolean {
  return ref.startsWith("refs/") && !ref.endsWith("/") && !ref.endsWith(".") &&
    !ref.includes("..") && !ref.includes("//") && !ref.includes("@{") &&
    !ref.split("/").some((part) => part.startsWith(".") || part.endsWith(".lock") || part === "") &&
    // deno-lint-ignore no-control-regex
    !/[\x00-\x20\x7f~^:?*[\\]/.test(ref);
}
