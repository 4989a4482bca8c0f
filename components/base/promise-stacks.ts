/**
 * Runs `build`, the synchronous construction of a component's children, with
 * V8 taking no stack frames for new Errors. Pulumi stamps each of the four
 * promises it makes per property of every resource with `new Error().stack`,
 * for a promise-leak report that only PULUMI_DEBUG_PROMISE_LEAKS prints; at
 * ~40 resources per site, taking and formatting those stacks was a fifth of
 * a 50-site preview (test/bench/preview-50-sites.bench.ts).
 *
 * Nothing a user sees changes: Pulumi lifts the limit itself when it takes a
 * resource's source position and stack trace, the limit is back before any
 * other code runs, and an Error thrown out of `build` gets its stack taken
 * again here, from the component's constructor down. With
 * PULUMI_DEBUG_PROMISE_LEAKS set, `build` runs as it is.
 */
export function withoutPromiseStacks<T>(build: () => T): T {
  if (process.env.PULUMI_DEBUG_PROMISE_LEAKS) return build();
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return build();
  } catch (error) {
    Error.stackTraceLimit = limit;
    if (error instanceof Error && !/\n\s+at /.test(error.stack ?? "")) {
      Error.captureStackTrace(error, withoutPromiseStacks);
    }
    throw error;
  } finally {
    Error.stackTraceLimit = limit;
  }
}
