// placeholder, being written
#include "waitless/census/census.hpp"
