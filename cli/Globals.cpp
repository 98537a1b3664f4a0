#include "Globals.hpp"

namespace cacheman::cli {

namespace {

using Kind = GlobalOption::Kind;

const GlobalOption k_globals[] = {
    {Kind::help, "-h,--help", "Print this help message and exit"},
    {Kind::text, "--dir", "Store directory (default: see below)", &GlobalOptions::dir},
    {Kind::text, "--store", "A postgresql:// URL: the shared store on that server",
     &GlobalOptions::store},
    {Kind::text, "-n,--namespace", "Namespace: the store file's name", &GlobalOptions::name_space},
    {Kind::flag, "--json", "Print data as JSON", nullptr, &GlobalOptions::json},
    {Kind::flag, "-q,--quiet", "Print no 'not found' messages", nullptr, &GlobalOptions::quiet},
    {Kind::flag, "-v,--verbose", "Say what was done on stderr", nullptr, &GlobalOptions::verbose},
    {Kind::version, "--version", "Display program version information and exit"},
};

bool has_name(const GlobalOption& option, std::string_view word) {
    std::string_view names = option.names;
    while (!names.empty()) {
        const auto comma = names.find(',');
        if (names.substr(0, comma) == word) {
            return true;
        }
        names = comma == std::string_view::npos ? std::string_view() : names.substr(comma + 1);
    }
    return false;
}

const GlobalOption* find_global(std::string_view word) {
    for (const auto& option : k_globals) {
        if (has_name(option, word)) {
            return &option;
        }
    }
    return nullptr;
}

} // namespace

std::span<const GlobalOption> global_options() {
    return k_globals;
}

bool global_option_takes_value(std::string_view word) {
    const GlobalOption* option = find_global(word);
    return option != nullptr && option->kind == Kind::text;
}

int global_option_words(std::string_view word) {
    if (const auto equals = word.find('='); equals != std::string_view::npos && word.starts_with("--")) {
        return global_option_takes_value(word.substr(0, equals)) ? 1 : 0; // --dir=DIR
    }
    const GlobalOption* option = find_global(word);
    if (option == nullptr) {
        return 0;
    }
    switch (option->kind) {
    case Kind::text:
        return 2;
    case Kind::flag:
        return 1;
    case Kind::help:
    case Kind::version:
        return 0;
    }
    return 0;
}

} // namespace cacheman::cli
