// The command line: parses argv, runs one command, and maps every error to its exit status.
#pragma once

#include "base/Error.hpp"

namespace cacheman::cli {

// The exit status for an error of this kind (the one table, CONTRACT.md "Exit status").
int exit_status_of(const Error& error);

// Runs cacheman with argv and returns the process's exit status. Never throws.
int run(int argc, char** argv);

} // namespace cacheman::cli
