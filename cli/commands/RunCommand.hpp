// `cacheman run`: memoize a shell-script step.
#pragma once

#include "Commands.hpp"

namespace cacheman::cli {

void declare_run(CLI::App& app, Arguments& args);
// Takes the words after the first `--` that follows `run` (at run_index) into `command`, so
// CLI11 never sees them; returns the argc to parse.
int split_command(int argc, char** argv, int run_index, std::vector<std::string>& command);
int run_run(Context& context);

} // namespace cacheman::cli
