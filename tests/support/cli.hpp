// Checks of the waitless command line shared by the CLI tests.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "support/process.hpp"

namespace waitless::test {

// Bad input: exit 3, one line on stderr that says what is wrong (naming `mentions`), nothing
// on stdout.
inline void expect_one_line_error(const std::string& arguments, const std::string& mentions) {
    auto run = run_shell(waitless_binary() + " " + arguments);
    EXPECT_EQ(run.exit_code, 3) << arguments << "\n" << run.err;
    EXPECT_TRUE(run.out.empty()) << arguments << "\n" << run.out;
    EXPECT_TRUE(run.err.starts_with("waitless: error: ")) << arguments << "\n" << run.err;
    EXPECT_EQ(std::count(run.err.begin(), run.err.end(), '\n'), 1) << arguments << "\n" << run.err;
    EXPECT_NE(run.err.find(mentions), std::string::npos) << arguments << "\n" << run.err;
}

}  // namespace waitless::test
