// The errors core reports. cli catches them in one place and maps each kind to an exit status
// (see CONTRACT.md "Exit status"); core itself never prints and never exits.
#pragma once

#include <stdexcept>
#include <string>

namespace cacheman {

class Error : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// A missing key, cache or edge: "nothing there" (exit 1).
class NotFoundError : public Error {
  public:
    using Error::Error;
};

// Refused input: a bad name, duration, import line, a cycle (exit 2).
class UsageError : public Error {
  public:
    using Error::Error;
};

// The store cannot be created, opened, read or written (exit 3).
class StoreError : public Error {
  public:
    using Error::Error;
};

// A lock held longer than the busy timeout: a store error that says so (exit 3).
class LockedError : public StoreError {
  public:
    using StoreError::StoreError;
};

// A hook command failed (exit 4); its stderr has already passed through.
class HookError : public Error {
  public:
    using Error::Error;
};

} // namespace cacheman
