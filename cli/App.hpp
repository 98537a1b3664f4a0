// The command line: parses argv, runs one command, and maps every error to its exit status.
#pragma once

#include "base/Error.hpp"

#include <functional>
#include <string>

namespace cacheman::cli {

// Runs `body` and returns its exit status; an error it throws is printed (a missing thing
// quietly when `quiet` is true by then) and mapped to its exit status, and any other exception
// is reported as a bug: exit 70. Never throws.
int guarded(const bool& quiet, const std::function<int()>& body);

// The exit status for an error of this kind (the one table, CONTRACT.md "Exit status").
int exit_status_of(const Error& error);

// Runs cacheman with argv and returns the process's exit status. Never throws.
int run(int argc, char** argv);

// The path of this program's own file ("cacheman" when /proc does not say).
std::string own_executable();

// Executes cacheman-postgresql (beside this program, else on PATH) with this process's
// arguments: the engine of postgresql:// stores, which the static cacheman does not link.
// Returns only by throwing StoreError, when it cannot be run.
[[noreturn]] void run_engine_program();

} // namespace cacheman::cli
