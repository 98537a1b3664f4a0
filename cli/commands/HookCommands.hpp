// Commands for a cache's settings and hooks: create, show, rebuild, reload, save.
#pragma once

#include "Commands.hpp"

namespace cacheman::cli {

void declare_create(CLI::App& app, Arguments& args);
void declare_cascade(CLI::App& app, Arguments& args);
int run_create(Context& context);
int run_show(Context& context);
int run_rebuild(Context& context);
int run_reload(Context& context);
int run_save(Context& context);

} // namespace cacheman::cli
