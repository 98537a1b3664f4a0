// The subcommand table: every command's name, summary, arguments and handler in one place, so
// help, completions and the man page can be checked against it.
#pragma once

#include "Globals.hpp"
#include "base/Location.hpp"
#include "run/RunOptions.hpp"
#include "session/Namespace.hpp"

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace CLI {
class App;
}

namespace cacheman::cli {

// The arguments any command may take; each command binds the ones it uses.
struct Arguments {
    std::string cache;
    std::string key;
    std::optional<std::string> optional_key;
    std::optional<std::string> value;
    std::vector<std::string> keys;
    std::string parent;
    std::string child;
    std::optional<std::string> ttl;
    std::string file = "-";
    std::string topic;
    bool dry_run = false;
    bool all = false;
    bool nul = false;
    // run: its options, and the command after them
    RunOptions run;
    std::vector<std::string> command;
    // create (an empty hook command removes the hook), reload, save
    std::optional<std::string> builder, loader, saver, validator, deleter, pre_processor,
        post_processor, autosync_checks;
    std::optional<bool> make_volatile;
    std::optional<bool> autosync;
    // create (an empty value removes the limit), gc
    std::optional<std::string> max_entries, max_bytes;
    bool cascade = false;
    // stats, log, graph
    std::optional<std::string> optional_cache;
    std::string format = "dot";
    std::size_t limit = 20;
    // copy: the other store (a directory or a URL), and whether it may be overwritten
    std::optional<std::string> copy_to, copy_from;
    bool replace = false;
    // __complete, completions
    std::string complete_what;
    std::string shell;
};

using engine::OpenMode;

// What a handler works with: the parsed options and the namespace, opened on demand.
class Context {
  public:
    Context(const GlobalOptions& global_options, const Arguments& arguments)
        : global(global_options), args(arguments) {}
    const GlobalOptions& global;
    const Arguments& args;
    // The session on the namespace, opened once per command with the first call's mode.
    Namespace& session(OpenMode mode);
    // A session on another store's namespace, opened as session() opens this one's.
    [[nodiscard]] std::unique_ptr<Namespace> open(const Location& location, OpenMode mode) const;
    // Resolved once per command (validating the namespace before any file is touched).
    const Location& location();
    // A -v note on stderr; silent unless --verbose.
    void note(std::string_view message) const;
    // Reports "nothing there" (exit 1): the message on stderr unless --quiet.
    [[nodiscard]] int not_found(std::string_view message) const;

  private:
    std::optional<Location> m_location;
    std::unique_ptr<Namespace> m_session;
};

// "no such cache 'NAME'"
std::string no_such_cache(std::string_view cache);

// Whether the command names a store URL in its arguments (copy --to/--from), which only a
// program with that engine can open.
bool copy_names_store_url(const Arguments& args);

struct Command {
    std::string_view name;
    std::string_view summary;
    std::string_view example;
    // Declares the command's positionals and options on its CLI11 subcommand.
    void (*declare)(CLI::App& app, Arguments& args);
    // Runs it; returns the exit status. Errors are thrown as cacheman::Error.
    int (*run)(Context& context);
    // Left out of help, the man page and the completions' command lists (__complete).
    bool hidden = false;
};

const std::vector<Command>& commands();
const Command* find_command(std::string_view name);

} // namespace cacheman::cli
