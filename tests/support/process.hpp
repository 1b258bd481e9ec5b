// Running a real program (waitless itself, ss, curl) and collecting what it printed.
#pragma once

#include <string>

namespace waitless::test {

struct process_result {
    int exit_code = -1;  // the exit status, or 128 + signal
    std::string out;     // standard output
    std::string err;     // standard error
};

// Runs `sh -c command`, waiting for it to end.
process_result run_shell(const std::string& command);

// The waitless binary built alongside the tests, quoted for the shell.
std::string waitless_binary();

}  // namespace waitless::test
