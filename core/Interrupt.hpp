// Interrupts: SIGINT, SIGTERM, SIGHUP and SIGQUIT while cacheman waits or runs a command.
#pragma once

#include "Error.hpp"

namespace cacheman {

// The signal that interrupted the process, or 0.
int interrupted();

// Records that `signal` arrived (called from the signal handler; async-signal-safe).
void note_interrupt(int signal);

// An operation gave up because of an interrupt (exit 130).
class Interrupted : public Error {
  public:
    using Error::Error;
};

} // namespace cacheman
