"""What both HTTP servers share (the platform server and the model servers): reading request
bodies within bounds, and errors in one shape."""
