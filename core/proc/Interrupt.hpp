// Interrupts: SIGINT, SIGTERM, SIGHUP and SIGQUIT while cacheman waits or runs a command.
#pragma once

#include "base/Error.hpp"

namespace cacheman {

// The signal that interrupted the process, or 0.
int interrupted();

// Records that `signal` arrived (called from the signal handler; async-signal-safe).
void note_interrupt(int signal);

} // namespace cacheman
