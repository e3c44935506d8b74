// The entry point of every test program: SystemC wants sc_main. Warnings from
// the SystemC kernel fail the test (they throw), as a reviewer would want.
#include <cstdlib>

#include <gtest/gtest.h>
#include <systemc>

// The SystemC banner is printed when the kernel starts: turn it off before that.
static const bool quiet_systemc = [] { return setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 1) == 0; }();

int sc_main(int argc, char* argv[]) {
    sc_core::sc_report_handler::set_actions(sc_core::SC_WARNING, sc_core::SC_DISPLAY | sc_core::SC_THROW);
    sc_core::sc_report_handler::set_actions("/OSCI/SystemC", sc_core::SC_INFO, sc_core::SC_DO_NOTHING);
    testing::InitGoogleTest(&argc, argv);
    return RUN_ALL_TESTS();
}
