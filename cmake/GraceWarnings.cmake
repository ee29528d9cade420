# Warnings for Grace's own targets only; third-party headers come in as system
# directories and stay quiet.
function(grace_warnings target)
  target_compile_options(
    ${target}
    PRIVATE -Wall
            -Wextra
            -Wpedantic
            -Wshadow
            -Wconversion
            -Wsign-conversion
            -Wold-style-cast
            -Wnon-virtual-dtor
            -Woverloaded-virtual
            -Wnull-dereference
            -Wduplicated-cond
            -Wlogical-op
            -Wformat=2
            -Wimplicit-fallthrough
            -Wmissing-declarations
            $<$<BOOL:${GRACE_WERROR}>:-Werror>)
endfunction()
