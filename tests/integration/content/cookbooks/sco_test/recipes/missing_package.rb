# A role that needs a package no repository has: the converge must fail naming the
# resource and this line.
package 'sco-test-no-such-package'
