# end-to-end tests of the kernel fast path
