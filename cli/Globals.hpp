// The global options (CONTRACT.md "Global options before the command"), listed once: CLI11's
// declarations, the overview written without CLI11, the scan for the command word and `run`'s
// split of its own options from the global ones all read this table.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace cacheman::cli {

// Global options, given before (or after) the command.
struct GlobalOptions {
    std::optional<std::string> dir;
    std::optional<std::string> store;
    std::optional<std::string> name_space;
    bool json = false;
    bool quiet = false;
    bool verbose = false;
};

struct GlobalOption {
    enum class Kind { help, version, text, flag };
    Kind kind;
    std::string_view names; // CLI11's spelling: "-n,--namespace"
    std::string_view description;
    std::optional<std::string> GlobalOptions::*text = nullptr;
    bool GlobalOptions::*flag = nullptr;
};

// In the order help lists them.
std::span<const GlobalOption> global_options();

// Whether `word` is a global option that takes the next word as its value.
bool global_option_takes_value(std::string_view word);

// How many words the global option that starts at `word` spans (its value included), or 0 when
// `word` is not one. --help and --version count as 0: after a command, they are the command's.
int global_option_words(std::string_view word);

} // namespace cacheman::cli
