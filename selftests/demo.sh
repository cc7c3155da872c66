#!/bin/sh
# demo.sh - guest side of `make demo`: load the module, show the device node
# and the module's counters, run the demo, unload.
cd /payload || exit 1
insmod ./iommufd_cxx.ko || exit 1
ls -l /dev/iommu
./demo
echo "objects alive now: $(cat /sys/module/iommufd_cxx/parameters/live_objects)"
rmmod iommufd_cxx && echo "module unloaded"
