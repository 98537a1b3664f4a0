// The command line: parses argv, runs one command, and maps every error to its exit status.
#pragma once

namespace cacheman::cli {

// Runs cacheman with argv and returns the process's exit status. Never throws.
int run(int argc, char** argv);

} // namespace cacheman::cli
