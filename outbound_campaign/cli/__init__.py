from . import outbound_dialer
