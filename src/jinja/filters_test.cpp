#include "jinja/jinja.h"
