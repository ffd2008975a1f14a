/** Environment variable names whose values are treated as secrets. */
const SECRET_NAME = /(KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|AUTH)/i;
/** Shorter values are too likely to occur by chance to be worth hiding. */
const MIN_SECRET_LENGTH = 8;

let secrets: string[] | undefined;

/** Secret-looking values from this thread's environment, longest first. Read once. */
function secretValues(): string[] {
  secrets ??= Object.entries(process.env)
    .filter(
      ([name, value]) =>
        SECRET_NAME.test(name) && typeof value === 'string' && value.length >= MIN_SECRET_LENGTH,
    )
    .map(([, value]) => value as string)
    .sort((a, b) => b.length - a.length);
  return secrets;
}

/**
 * Replaces secret values (API keys and the like, from the worker's environment) with `[redacted]`. Applied to
 * everything that leaves the worker: output, results and errors, so a model or tool that echoes a key (an
 * SDK error that quotes a header, a tool that prints the environment) cannot carry it into a snapshot.
 * Costs one `includes` per known secret per text.
 */
export function redact(text: string): string {
  let clean = text;
  for (const secret of secretValues()) {
    if (clean.includes(secret)) clean = clean.split(secret).join('[redacted]');
  }
  return clean;
}
