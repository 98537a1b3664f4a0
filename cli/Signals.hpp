// The process-wide signal dispositions of `cacheman run`: a decision of the program, which the
// library (core/) never takes for it.
#pragma once

namespace cacheman::cli {

// Catches SIGINT, SIGTERM, SIGHUP and SIGQUIT, so that an interrupt is recorded (the waits and
// run_process notice it) and forwarded to the running command instead of killing cacheman
// before it cleans up; a signal from the terminal is not forwarded (the command's process group
// got it already). No SA_RESTART: a blocking wait must return EINTR to notice it. A signal
// ignored at start (a background job) stays ignored. Ignores SIGPIPE: a reader that goes away
// (`| head -1`) must not kill cacheman before the result is stored.
void install_run_signal_handlers();

} // namespace cacheman::cli
