// Files built into the binary (generated EmbeddedCompletions.cpp, see cmake/EmbedFiles.cmake).
#pragma once

#include <string_view>

namespace cacheman::cli {

std::string_view embedded_bash_completion();
std::string_view embedded_zsh_completion();
std::string_view embedded_fish_completion();

} // namespace cacheman::cli
