// The errors core reports: the one hierarchy of the public header <cacheman/Error.hpp>, which
// the library's users catch as they are. cli catches them in one place and maps each kind to an
// exit status (see CONTRACT.md "Exit status"); core itself never prints and never exits.
#pragma once

#include <cacheman/Error.hpp>
