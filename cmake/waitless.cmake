# Helpers shared by every module: warnings, sanitizers, libraries and tests.

add_library(waitless_options INTERFACE)
target_compile_options(waitless_options INTERFACE -Wall -Wextra -Wpedantic -Wshadow -Wconversion
                                                  -Wno-sign-conversion -Wnon-virtual-dtor)
if(WAITLESS_WERROR)
    target_compile_options(waitless_options INTERFACE -Werror)
endif()
if(WAITLESS_SANITIZE)
    target_compile_options(waitless_options INTERFACE -fsanitize=${WAITLESS_SANITIZE}
                                                      -fno-omit-frame-pointer -fno-sanitize-recover=all)
    target_link_options(waitless_options INTERFACE -fsanitize=${WAITLESS_SANITIZE})
endif()

# waitless_add_library(NAME SOURCES... [DEPS targets...])
# Makes target waitless_NAME (alias waitless::NAME) with the public include/ folder.
function(waitless_add_library name)
    cmake_parse_arguments(arg "" "" "SOURCES;DEPS" ${ARGN})
    add_library(waitless_${name} STATIC ${arg_SOURCES})
    add_library(waitless::${name} ALIAS waitless_${name})
    target_include_directories(waitless_${name}
        PUBLIC ${PROJECT_SOURCE_DIR}/include
        PRIVATE ${PROJECT_SOURCE_DIR}/src)
    target_link_libraries(waitless_${name} PUBLIC ${arg_DEPS} PRIVATE waitless_options)
    set_property(GLOBAL APPEND PROPERTY WAITLESS_LIBRARIES waitless::${name})
endfunction()

# waitless_add_test(NAME SOURCES... [DEPS targets...] [LABEL unit|integration])
# One GoogleTest executable, registered test by test with CTest.
function(waitless_add_test name)
    cmake_parse_arguments(arg "" "LABEL" "SOURCES;DEPS" ${ARGN})
    if(NOT arg_LABEL)
        set(arg_LABEL unit)
    endif()
    add_executable(${name} ${arg_SOURCES})
    target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/tests ${PROJECT_SOURCE_DIR}/src)
    target_link_libraries(${name} PRIVATE ${arg_DEPS} GTest::gtest GTest::gtest_main waitless_options)
    target_compile_definitions(${name} PRIVATE
        WAITLESS_BIN="$<TARGET_FILE:waitless>"
        WAITLESS_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
    if(arg_LABEL STREQUAL "integration")
        add_dependencies(${name} waitless)  # they run the binary; unit tests need not wait for it
    endif()
    gtest_discover_tests(${name} PROPERTIES LABELS ${arg_LABEL} DISCOVERY_TIMEOUT 30)
endfunction()
