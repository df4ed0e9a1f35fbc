/**
 * The Pulumi SDK formats a stack trace for every promise it makes (`debuggablePromise`), for a leak
 * report that prints those traces only when PULUMI_DEBUG_PROMISE_LEAKS is set. Formatting them took a
 * quarter of the CPU of a program host running 11 stacks, an eighth of `npm start`'s. Without that
 * variable nothing ever reads them, so this process gives the SDK an empty trace there; every other
 * stack goes to the formatter that was in place (Node's own, with or without source maps). Imported
 * before the SDK, where the program runs.
 */

/** The SDK's file whose promises carry a trace for the leak report. */
const LEAK_TRACKER = /[\\/]@pulumi[\\/]pulumi[\\/]runtime[\\/]debuggable\.js$/;

function isLeakTrace(frames: readonly NodeJS.CallSite[]): boolean {
    const top = frames[0];
    return top?.getFunctionName() === "debuggablePromise" && LEAK_TRACKER.test(top.getFileName() ?? "");
}

const format = Error.prepareStackTrace;
if (!process.env.PULUMI_DEBUG_PROMISE_LEAKS && format) {
    Error.prepareStackTrace = (error, frames) => (isLeakTrace(frames) ? "" : format(error, frames));
}
