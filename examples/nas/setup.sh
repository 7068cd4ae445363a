#!/bin/sh
# What the hand-made NAS's setup.sh did that a manifest does not say. It
# runs chrooted in the new root at the end of the build (/bin/sh -e).

# Start services in parallel: the NAS has a slow disk array.
sed -i 's/^#\?rc_parallel=.*/rc_parallel="YES"/' /etc/rc.conf

# smartd: watch every disk, short test nightly, long test on Saturdays.
echo 'DEVICESCAN -a -o on -S on -n standby,q -s (S/../.././02|L/../../6/03) -W 4,45,50' > /etc/smartd.conf

# The shares live on the array, mounted at /srv/array at boot.
ln -sfn /srv/array/media /srv/media
