// Reading whole inputs: a value from stdin, an import file.
#pragma once

#include <string>

namespace cacheman::cli {

// Reads stdin to EOF, binary-safe. Throws UsageError when it cannot be read.
std::string read_stdin();
// Reads a file whole, or stdin for "-". Throws UsageError naming the file when it cannot be read.
std::string read_file_or_stdin(const std::string& path);

} // namespace cacheman::cli
