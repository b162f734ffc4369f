#error "daemon/core is pure: it may use libc and inih only, not <expat.h>"
