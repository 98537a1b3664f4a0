// cacheman's errors: one hierarchy for the library, the command-line tool and core alike.
//
// Every error is a cacheman::Error with a kind(). The command maps each kind to its exit status
// with one table (cli/App.cpp); the library throws them as they are. Expected outcomes (a
// missing key, a missing cache on a read, nothing to delete) are return values, not errors,
// where a caller can ask for them that way.
//
// This header includes only the standard library.
#pragma once

#include <stdexcept>
#include <string>

namespace cacheman {

inline namespace v1 {

enum class ErrorKind {
    not_found,   // a missing cache, key or edge (the command's exit 1)
    usage,       // refused input: a bad name, key, ttl or option; a cycle (exit 2)
    store,       // the store cannot be created, opened, read or written (exit 3)
    hook,        // a cache's hook command failed (exit 4)
    spawn,       // a command could not be started (exit 127 not found, 126 otherwise)
    interrupted, // a signal ended the operation (exit 130)
};

class Error : public std::runtime_error {
  public:
    Error(ErrorKind kind, const std::string& what) : std::runtime_error(what), m_kind(kind) {}
    ~Error() override;
    [[nodiscard]] ErrorKind kind() const noexcept { return m_kind; }

  private:
    ErrorKind m_kind;
};

// Nothing there: a missing cache, key or edge.
class NotFoundError : public Error {
  public:
    explicit NotFoundError(const std::string& what) : Error(ErrorKind::not_found, what) {}
    ~NotFoundError() override;
};

// Refused input: a bad name, key, duration, import line; a cycle.
class UsageError : public Error {
  public:
    explicit UsageError(const std::string& what) : Error(ErrorKind::usage, what) {}
    ~UsageError() override;
};

// The store cannot be created, opened, read or written.
class StoreError : public Error {
  public:
    explicit StoreError(const std::string& what) : Error(ErrorKind::store, what) {}
    ~StoreError() override;
};

// Another process held the store's write lock for longer than the busy timeout.
class LockedError : public StoreError {
  public:
    using StoreError::StoreError;
    ~LockedError() override;
};

// A cache's hook command (a builder, saver, ...) failed; the cache was left as it was.
class HookError : public Error {
  public:
    explicit HookError(const std::string& what) : Error(ErrorKind::hook, what) {}
    ~HookError() override;
};

// A command could not be started: exit_code() is 127 when it was not found, else 126.
class SpawnError : public Error {
  public:
    SpawnError(const std::string& what, int exit_code)
        : Error(ErrorKind::spawn, what), m_exit_code(exit_code) {}
    ~SpawnError() override;
    [[nodiscard]] int exit_code() const noexcept { return m_exit_code; }

  private:
    int m_exit_code;
};

// An operation gave up because a signal (SIGINT, SIGTERM, ...) arrived.
class Interrupted : public Error {
  public:
    explicit Interrupted(const std::string& what) : Error(ErrorKind::interrupted, what) {}
    ~Interrupted() override;
};

} // namespace v1

} // namespace cacheman
