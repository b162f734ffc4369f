#error "daemon/core is pure: it may use libc and inih only, not <systemd/sd-journal.h>"
