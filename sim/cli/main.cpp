#include "sim/cli/cli.h"

int main(int argc, char** argv) {
  return lwm2msim::cli_main(argc, argv);
}
