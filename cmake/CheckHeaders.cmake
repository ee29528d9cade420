# Every header compiles on its own: one generated translation unit per header,
# built as part of the normal build, so a missing include fails here and not
# in whichever file happens to include the header first.
function(grace_check_headers target)
  set(sources)
  foreach(header ${ARGN})
    file(RELATIVE_PATH rel ${PROJECT_SOURCE_DIR} ${header})
    string(MAKE_C_IDENTIFIER ${rel} id)
    set(tu ${CMAKE_CURRENT_BINARY_DIR}/check_headers/${id}.cpp)
    file(CONFIGURE OUTPUT ${tu} CONTENT "#include \"${rel}\"\n")
    list(APPEND sources ${tu})
  endforeach()
  add_library(${target} OBJECT ${sources})
  target_include_directories(${target} PRIVATE ${PROJECT_SOURCE_DIR})
  target_link_libraries(${target} PRIVATE CAF::core)
  grace_warnings(${target})
endfunction()
