/* A unit test that runs no check: TEST_MAIN_END must exit 1 and say so (run by
 * tests/CMakeLists.txt, which expects exactly that). Not named test_*.c on purpose. */
#include "testlib.h"

int main(void)
{
    TEST_MAIN_END();
}
