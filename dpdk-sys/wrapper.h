/* Everything relay needs from DPDK 22.11. bindgen reads this; shim.h adds the wrappers of the
 * static-inline fast-path functions that bindgen cannot link to. */
#include <rte_config.h>
#include <rte_common.h>
#include <rte_errno.h>
#include <rte_eal.h>
#include <rte_lcore.h>
#include <rte_launch.h>
#include <rte_cycles.h>
#include <rte_per_lcore.h>
#include <rte_memory.h>
#include <rte_malloc.h>
#include <rte_mempool.h>
#include <rte_mbuf.h>
#include <rte_ether.h>
#include <rte_ethdev.h>
#include <rte_bus_vdev.h>
#include <rte_ring.h>
#include <rte_lpm.h>
#include <rte_lpm6.h>
#include <rte_fib6.h>
#include <rte_telemetry.h>
#include <rte_log.h>
#include <rte_version.h>
#include "shim.h"
