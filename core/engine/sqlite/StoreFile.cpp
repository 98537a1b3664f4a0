#include "engine/sqlite/StoreFile.hpp"

#include "base/Error.hpp"
#include "base/Posix.hpp"
#include "engine/sqlite/Schema.hpp"
#include "engine/sqlite/Transaction.hpp"

#include <cerrno>
#include <charconv>
#include <csignal>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utility>

namespace cacheman::sqlite {

namespace {

struct Header {
    std::int64_t application_id = 0;
    std::int64_t version = 0;
};

std::int64_t pragma(Connection& connection, const std::string& name) {
    auto& query = connection.prepared("PRAGMA " + name);
    query.step();
    const auto value = query.column_int(0);
    query.reset();
    return value;
}

Header read_header(Connection& connection) {
    return {pragma(connection, "application_id"), pragma(connection, "user_version")};
}

[[noreturn]] void refuse_foreign(const std::string& path) {
    throw StoreError("not a cacheman store; leaving it untouched (" + path + ")");
}

// A database with another application id, or with anything in it, belongs to someone else.
bool is_foreign(Connection& connection, const Header& header) {
    if (header.application_id == schema::k_application_id) {
        return false;
    }
    auto& objects = connection.prepared("SELECT count(*) FROM sqlite_master");
    objects.step();
    const bool has_objects = objects.column_int(0) > 0;
    objects.reset();
    return header.application_id != 0 || has_objects;
}

void identify_or_initialise(Connection& connection, std::int64_t file_size) {
    const std::string& path = connection.path();
    Header header = read_header(connection);
    if (header.application_id == schema::k_application_id &&
        header.version == schema::k_latest_version) {
        return;
    }
    if (header.application_id != 0 && header.application_id != schema::k_application_id) {
        refuse_foreign(path);
    }
    if (header.version > schema::k_latest_version) {
        throw StoreError("store has schema version " + std::to_string(header.version) +
                         ", newer than this cacheman understands (" +
                         std::to_string(schema::k_latest_version) + "); upgrade cacheman (" + path +
                         ")");
    }
    const bool on_disk = path != ":memory:";
    const bool empty = pragma(connection, "page_count") == 0;
    if (header.application_id == 0 && file_size > 0 && empty) {
        // A file too short to hold one page: SQLite takes it for an empty database, but it is
        // not one (a real one always holds a whole page). Checked only where a file would be
        // initialised, and not by opening the file again: closing a second descriptor would
        // drop SQLite's POSIX locks on it.
        refuse_foreign(path);
    }
    if (header.application_id == 0 && on_disk && empty) {
        // Switch to WAL before the first table exists, so that no other process ever sees the
        // store in another journal mode.
        connection.db().exec("PRAGMA journal_mode = WAL");
    }
    bool created = false;
    {
        // One with nothing in it (a zero-byte file, or one another cacheman process is
        // initialising right now) is ours to initialise. Decided under the write lock, where the
        // header and the schema are read in one consistent snapshot: another process may have
        // initialised or migrated the store while this one waited.
        Transaction tx(connection.db(), Transaction::Kind::write);
        header = read_header(connection);
        if (is_foreign(connection, header)) {
            refuse_foreign(path);
        }
        if (header.application_id == 0) {
            schema::create(connection.db());
            created = true;
        } else if (header.version < schema::k_latest_version) {
            schema::migrate(connection.db(), static_cast<int>(header.version));
        }
        tx.commit();
    }
    if (created && on_disk) {
        connection.db().exec("PRAGMA journal_mode = WAL"); // a no-op unless the file was not empty
    }
}

// Creates the store at `path` atomically: the schema is written, in WAL mode, to a private file
// beside it, which is then linked into place. Other processes see no store or a whole one, never
// a half-initialised file or one still switching its journal mode; a process killed meanwhile
// leaves only its temporary file. link(2) never replaces: when another process created the
// store first, its store is used.
// Removes the temporary files of creations that were killed (their process is gone).
void sweep_killed_creations(const std::string& path) {
    const auto slash = path.rfind('/');
    const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
    const std::string prefix = path.substr(slash + 1) + ".creating.";
    DIR* listing = ::opendir(dir.c_str());
    if (listing == nullptr) {
        return;
    }
    while (const dirent* entry = ::readdir(listing)) {
        const std::string_view name = entry->d_name;
        if (!name.starts_with(prefix)) {
            continue;
        }
        std::string_view pid_text = name.substr(prefix.size());
        for (const char* suffix : {"-wal", "-shm", "-journal"}) {
            if (pid_text.ends_with(suffix)) {
                pid_text.remove_suffix(std::string_view(suffix).size());
            }
        }
        pid_t pid = 0;
        const auto [end, error] =
            std::from_chars(pid_text.data(), pid_text.data() + pid_text.size(), pid);
        const bool whole = error == std::errc() && end == pid_text.data() + pid_text.size();
        if (whole && pid > 0 && ::kill(pid, 0) != 0 && errno == ESRCH) {
            ::unlinkat(::dirfd(listing), entry->d_name, 0);
        }
    }
    ::closedir(listing);
}

void create_whole(const std::string& path, int busy_timeout_ms, const Clock& clock) {
    sweep_killed_creations(path);
    const std::string temporary = path + ".creating." + std::to_string(getpid());
    ::unlink(temporary.c_str()); // left by a killed process that had this pid
    ensure_private_file(temporary);
    struct Remove {
        const std::string& file;
        ~Remove() {
            for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
                ::unlink((file + suffix).c_str());
            }
        }
    } remove{temporary};
    {
        Connection connection(
            std::make_unique<Database>(temporary, Database::Mode::read_write, busy_timeout_ms),
            clock);
        identify_or_initialise(connection, 0);
    } // closed: the WAL is checkpointed into the file
    if (::link(temporary.c_str(), path.c_str()) != 0 && errno != EEXIST) {
        throw StoreError(system_message("cannot create store", path));
    }
}

// Whether `path` exists (filling `info`); only a path that is not there counts as missing.
bool stat_store(const std::string& path, struct stat& info) {
    if (stat(path.c_str(), &info) == 0) {
        return true;
    }
    if (errno != ENOENT) {
        throw StoreError(system_message("cannot access store", path));
    }
    return false;
}

} // namespace

bool store_file_exists(const std::string& path) {
    struct stat info {};
    return stat_store(path, info);
}

std::unique_ptr<Connection> open_store_file(const std::string& dir, const std::string& path,
                                            OpenMode mode, int busy_timeout_ms, Clock clock) {
    struct stat info {};
    const bool exists = stat_store(path, info);
    // A zero-byte file is an empty store: a command that does not create one reads it as empty
    // and writes nothing (reads never write, so they work on a read-only mount).
    if ((!exists || (S_ISREG(info.st_mode) && info.st_size == 0)) && mode != OpenMode::create) {
        return open_in_memory(busy_timeout_ms, std::move(clock));
    }
    // The directory and every file in it are checked before anything is read (Posix.hpp; a
    // symbolic link at the store path, even a dangling one, is refused there), and opened
    // through the directory's real path, so that SQLite refuses any symbolic link.
    ensure_directory(dir, "store directory");
    const std::string real = real_directory(dir) + path.substr(path.find_last_of('/'));
    if (!exists) {
        create_whole(real, busy_timeout_ms, clock);
    }
    require_safe_database_files(real, "store");
    auto connection = std::make_unique<Connection>(
        std::make_unique<Database>(real, Database::Mode::read_write, busy_timeout_ms),
        std::move(clock));
    identify_or_initialise(*connection, exists ? static_cast<std::int64_t>(info.st_size) : 0);
    require_safe_database_files(real, "store"); // the first transaction may have created them
    if (mode != OpenMode::read) {
        // WAL makes a commit one append; NORMAL syncs at checkpoints, which keeps every committed
        // transaction across a process crash (the contract) and the file consistent on power loss.
        connection->db().exec("PRAGMA synchronous = NORMAL");
    }
    return connection;
}

std::unique_ptr<Connection> open_in_memory(int busy_timeout_ms, Clock clock) {
    auto connection = std::make_unique<Connection>(
        std::make_unique<Database>(":memory:", Database::Mode::read_write, busy_timeout_ms),
        std::move(clock));
    identify_or_initialise(*connection, 0);
    return connection;
}

} // namespace cacheman::sqlite
