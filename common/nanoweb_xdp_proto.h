/* shared wire format of nano-web <-> nanoweb-xdpd: see xdp/ */
