# The demo image: no registry is reachable, so it is made here from busybox-static (one static binary,
# every applet a symlink) and `docker import`ed. `sh -c 'while true; do sleep 1; done'` runs on it.
DEMO_IMAGE_NAME=lease-engine/busybox:local

setup_demo_image() {
  if docker image inspect "$DEMO_IMAGE_NAME" >/dev/null 2>&1; then
    step_skipped "$DEMO_IMAGE_NAME present"
    return
  fi
  # The plain `busybox` package is dynamically linked and would not run in an empty root.
  apt_install busybox-static
  local rootfs applet
  rootfs=$(mktemp -d)
  mkdir -p "$rootfs/bin" "$rootfs/tmp" "$rootfs/etc" "$rootfs/proc" "$rootfs/sys" "$rootfs/dev"
  chmod 1777 "$rootfs/tmp"
  cp /bin/busybox "$rootfs/bin/busybox"
  for applet in $(/bin/busybox --list); do
    [ "$applet" = busybox ] || ln -sf busybox "$rootfs/bin/$applet"
  done
  tar -C "$rootfs" -c . | quietly docker import \
    --change 'ENV PATH=/bin' --change 'CMD ["sh"]' - "$DEMO_IMAGE_NAME"
  rm -rf "$rootfs"
  step_done "built $DEMO_IMAGE_NAME from busybox-static"
}
