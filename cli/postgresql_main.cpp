// cacheman-postgresql: the same commands as cacheman, with the engine of postgresql:// stores
// (core/engine/postgres, and libpq) linked in; that engine registers itself as the program
// starts. cacheman executes this program for such a store; it can be run directly too.
#include "App.hpp"

int main(int argc, char** argv) {
    return cacheman::cli::run(argc, argv);
}
