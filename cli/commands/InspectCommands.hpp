// Introspection: stats, graph, why, log, check.
#pragma once

#include "Commands.hpp"

namespace cacheman::cli {

void declare_optional_cache(CLI::App& app, Arguments& args);
void declare_graph(CLI::App& app, Arguments& args);
void declare_log(CLI::App& app, Arguments& args);
int run_stats(Context& context);
int run_graph(Context& context);
int run_why(Context& context);
int run_log(Context& context);
int run_check(Context& context);
void declare_gc(CLI::App& app, Arguments& args);
int run_gc(Context& context);

// "2026-11-27 02:30:01" in local time.
std::string local_time(double unix_seconds);

} // namespace cacheman::cli
