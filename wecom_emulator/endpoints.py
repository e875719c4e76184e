"""The API calls the emulator serves, named by their path under /cgi-bin: the names that
scripted faults and call counts take."""

GETTOKEN = "gettoken"
SEND = "message/send"
CHAT_SEND = "appchat/send"
CHAT_GET = "appchat/get"
USER_GET = "user/get"
UPLOAD = "media/upload"
MEDIA_GET = "media/get"

ENDPOINTS = (GETTOKEN, SEND, CHAT_SEND, CHAT_GET, USER_GET, UPLOAD, MEDIA_GET)
